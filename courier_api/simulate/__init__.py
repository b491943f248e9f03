"""`courier-api simulate`: a simulated courier app (`courier.py`) and its scenarios (`scenarios.py`)."""
