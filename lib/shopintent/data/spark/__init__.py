"""Apache Spark as the second data engine, for event logs that outgrow one machine.

``session`` is the one place that finds Java and creates the SparkSession (``local[*]`` or a
cluster); the Spark loaders (one per event-log source, sharing the pandas loader's column
meanings and row rules) and the writer of a prepared dataset live beside it. pandas stays the
default engine: nothing here is imported unless ``--engine spark`` is asked for.
"""
