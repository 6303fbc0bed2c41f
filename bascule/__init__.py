"""bascule: acceptance tests for the two-node HA FTP lab (Pacemaker, DRBD, proftpd)."""

__version__ = "0.1.0"
