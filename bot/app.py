"""The composition root: one function builds the whole Application from the settings."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot.chat import (
    access,
    ballot,
    basics,
    calendar,
    invites,
    leadership,
    myscore,
    office,
    rating,
    report,
    review,
    selfscore,
    signup,
    status,
    tasks,
)
from bot.chat.context import AlreadyHandled, KaoheApplication, KaoheContext
from bot.chat.menus import keep_menu, set_default_menus
from bot.chat.persistence import DatabasePersistence
from bot.chat.processor import PerUserUpdateProcessor
from bot.core.clock import Clock, SystemClock
from bot.core.config import Settings
from bot.core.services import Services
from bot.core.texts import Texts
from bot.jobs.notices import report_undelivered
from bot.jobs.remind import remind_pending
from bot.jobs.scheduler import Scheduler, process_owner
from bot.jobs.sender import Sender
from storage.engine import create_engine, make_session_factory, transaction
from storage.queries.roster import ensure_unit, list_cadres

log = logging.getLogger(__name__)

# Every capability module exposes handlers(); the order is the order of matching in group 0.
# The conversations (office, selfscore, rating) come before basics, whose catch-all answers
# "not understood"; among them the order does not matter, as a typed message goes to the
# question put most recently (bot.chat.conversations.TypedQuestions).
CAPABILITIES = (
    signup,
    office,
    selfscore,
    rating,
    review,
    basics,
    invites,
    leadership,
    ballot,
    myscore,
    status,
    tasks,
    calendar,
    report,
)


def build_services(
    settings: Settings, *, texts: Texts | None = None, clock: Clock | None = None
) -> Services:
    """The shared resources of one bot: engine and sessions, texts, and the clock it runs on."""
    engine = create_engine(settings.resolved_database_url)
    return Services(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        texts=texts or Texts(default_language=settings.default_language),
        clock=clock or SystemClock(),
    )


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    services: Services | None = None,
    rate_limit: bool = True,
) -> KaoheApplication:
    """Build the Application: handlers, persistence, update processor, defaults, lifecycle.

    ``request`` replaces the HTTP client (tests pass a fake Telegram); everything else is the
    code that runs in production.
    """
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    services = services or build_services(settings)
    processor = PerUserUpdateProcessor()
    builder = (
        ApplicationBuilder()
        .application_class(KaoheApplication, kwargs={"services": services})
        .token(settings.bot_token.get_secret_value())
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                tzinfo=settings.zone,
            )
        )
        .context_types(ContextTypes(context=KaoheContext))
        .concurrent_updates(processor)
        .persistence(DatabasePersistence(services.sessions, services.clock))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if settings.telegram_api_base_url:
        builder = builder.base_url(settings.telegram_api_base_url)
    if settings.telegram_api_file_url:
        builder = builder.base_file_url(settings.telegram_api_file_url)
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]  # PTB types the limiter for the default builder only
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    else:
        proxy = (
            settings.telegram_proxy_url.get_secret_value() if settings.telegram_proxy_url else None
        )
        builder = builder.request(
            HTTPXRequest(connection_pool_size=16, proxy=proxy)
        ).get_updates_request(HTTPXRequest(proxy=proxy, read_timeout=30))
    app = builder.build()
    assert isinstance(app, KaoheApplication)
    processor.application = app
    for handler, group in access.gate_handlers():
        app.add_handler(handler, group=group)
    for module in CAPABILITIES:
        app.add_handlers(module.handlers())
    app.add_handlers(basics.fallback_handlers())
    app.add_error_handler(_error_handler)
    return app


async def _post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    assert isinstance(app, KaoheApplication)
    services = app.services
    settings = services.settings
    async with transaction(services.sessions) as session:
        unit = await ensure_unit(
            session=session, name=settings.unit_name, timezone=settings.timezone
        )
        if settings.leadership_chat_id is not None and unit.leadership_chat_id is None:
            unit.leadership_chat_id = settings.leadership_chat_id
            session.add(unit)
        services.unit_id = unit.id
    await set_default_menus(app.bot, services.texts)
    async with services.sessions() as session:
        people = [
            c
            for c in await list_cadres(session=session, unit_id=services.unit)
            if c.telegram_user_id
        ]
    changed = [
        cadre.telegram_user_id
        for cadre in people
        if await keep_menu(
            app.bot,
            services.texts,
            cadre,
            app.user_data[cadre.telegram_user_id or 0],
        )
    ]
    if changed and app.persistence is not None:
        app.mark_data_for_update_persistence(user_ids=[u for u in changed if u is not None])
        await app.update_persistence()
    owner = process_owner()
    app.sender = Sender(
        services,
        app.bot,
        owner=owner,
        on_event_done=lambda event: report_undelivered(services, event),
    )
    app.scheduler = Scheduler(
        services, app.job_queue, app.sender, owner=owner, scheme_file=settings.scheme_file
    )
    # What /status's "remind the missing" needs from the jobs, handed to the chat.
    services.remind_pending = partial(remind_pending, services)
    services.outbox_changed = app.sender.wake
    app.sender.start()
    await app.scheduler.start()
    if services.clock.simulated:
        log.warning(
            "SIMULATED CLOCK: the appraisal runs at %s, %g× real time (not the wall clock)",
            services.now().astimezone(settings.zone).isoformat(timespec="minutes"),
            services.clock.speed,
        )
    log.info("kaohe ready as @%s for unit %s", app.bot.username, settings.unit_name)


async def _post_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    assert isinstance(app, KaoheApplication)
    app.services.remind_pending = None
    app.services.outbox_changed = None
    if app.scheduler is not None:
        await app.scheduler.stop()
    if app.sender is not None:
        await app.sender.stop()


async def _post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    assert isinstance(app, KaoheApplication)
    await app.services.engine.dispose()


async def _error_handler(update: object, context: KaoheContext) -> None:
    """Log the failure, then tell the person something useful; never a traceback or secret."""
    error = context.error
    if isinstance(error, AlreadyHandled):
        # Another delivery of this update did the work; this one wrote nothing and says nothing.
        if isinstance(update, Update):
            context.set_outcome(update.update_id, "duplicate")
        return
    if isinstance(update, Update):
        context.set_outcome(update.update_id, f"error:{type(error).__name__}")
    log.error("update handling failed", exc_info=error)
    if not isinstance(update, Update) or isinstance(error, Forbidden):
        return
    text = context.render("errors/internal")
    query = update.callback_query
    if query is not None:
        try:
            await query.answer(text[:190], show_alert=True)
            return
        except TelegramError:
            # Already answered before the failure: say it in the chat instead.
            log.info("callback query already answered; telling the chat instead")
    chat = update.effective_chat
    if chat is None:
        return
    try:
        await context.bot.send_message(chat.id, text)
    except TelegramError:
        log.warning("could not tell the user about the failure", exc_info=True)


__all__: list[Any] = ["build_application", "build_services"]
