"""Reading and writing partitioned data: pandas objects, Delayed, CSV files."""
