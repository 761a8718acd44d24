"""The Outlook / Microsoft 365 connector over Microsoft Graph."""
