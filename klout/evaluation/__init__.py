"""Does the score predict influence? Our score against three baselines, on future reactions (real data) and on the
synthetic world's hidden influence; and what gaming does to the scores (`gaming`)."""
