"""Business rules for one shop. Views, jobs, the CLI and the API all call these."""
