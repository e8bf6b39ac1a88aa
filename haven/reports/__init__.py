"""Programme reports from the counters: tables with small cells suppressed, CSV and DHIS2 (docs/reports.md).

Pure functions, no I/O: the CLI (``haven report``) and the web pages call them.
"""
