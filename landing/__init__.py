"""Reading a dealer landing folder: file discovery, format detection and the header mapping."""
