"""Oversight of the audit trail: the trail viewer and its CSV export (trail), the alert rules run
on every recorded entry (rules) and the alerts they raise (alerts), and security incidents
(incidents). Inside the package each module imports only those below it:
incidents → trail → people; rules → alerts."""
