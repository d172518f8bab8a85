"""Jobs: ``status`` (the states), ``models`` (the tables), ``store`` (every change,
compare-and-set), ``group_commit`` (new jobs written in batches), ``step_queue`` (steps on
procrastinate).

Nothing is imported here, so that importing one module does not load the database drivers.
"""
