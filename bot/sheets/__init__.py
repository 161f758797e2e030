"""The office's spreadsheets in and out (openpyxl, CSV): rosters, targets, reports."""
