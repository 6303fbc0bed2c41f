"""The nightly endurance run: a seeded schedule of the lab's faults, uploads all along, and every
acknowledged file read back after each heal (`bascule endurance`)."""
