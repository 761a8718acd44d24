"""Mail metadata readers shared by the mail sources: header parsing, and the IMAP mailbox."""
