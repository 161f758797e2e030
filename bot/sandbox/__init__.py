"""The sandbox: the real bot and a whole town on one computer, with a web page (``kaohe sandbox``).

:class:`~bot.sandbox.sandbox.Sandbox` is the Python API (start the town, move the clock, act as a
person, read a chat); :mod:`bot.sandbox.web` serves the page; :mod:`bot.sandbox.town` brings a
town's roster, targets and people in through the office's own paths.
"""
