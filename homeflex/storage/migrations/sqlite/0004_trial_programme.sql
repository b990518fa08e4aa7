-- Trial events: the DSO's flex requests run for real so households and the operator see what they would
-- deliver; measured and settled like any event, never paid: the API gives them a price of 0 and the
-- programme's payment curve pays nothing at any delivery ratio.
INSERT INTO programmes (id, name, baseline_method, payment_curve, created_at)
VALUES ('trial', 'Trial events: measured, never paid', 'same_day_type', '[[0, 0]]', '2026-01-01T00:00:00Z');
