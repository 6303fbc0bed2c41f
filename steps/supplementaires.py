"""Steps of the lab's extra cases (reboot, service killed, cable pulled, split brain, save/restore)."""
