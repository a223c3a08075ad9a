"""Hardware interfaces (small ABCs) shared by real drivers and the MuJoCo twin."""
