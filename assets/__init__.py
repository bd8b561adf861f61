"""Asset definitions, one folder per stage; thin: they run SQL files or call `models/`."""
