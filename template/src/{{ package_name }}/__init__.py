"""The pipeline package: extract -> transform -> validate -> load, with a delivery contract."""
