"""What every part of parbench runs on: settings, errors and their one-line reports, signals,
temporary files, processes, and the bounds of this machine."""
