"""Demo traffic for the console and the benches: a simulator of Directory Insights events."""
