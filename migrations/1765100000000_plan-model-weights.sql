-- Up Migration
-- Model weights per plan (issue 2 lists "model weights" among a plan's fields): [[glob, multiplier], …] in the
-- admin's order — first match wins, as in SOLARIS_MODEL_WEIGHTS. A plan's own entry beats the deployment table,
-- which beats 1. The engine applies it in JS with the plan the request was reserved under (docs/per-plan-weights.md);
-- ledger rows keep the weighted tokens they were charged, so a change only affects requests that start after it.
ALTER TABLE plans ADD COLUMN model_weights jsonb NOT NULL DEFAULT '[]'::jsonb
  CHECK (jsonb_typeof(model_weights) = 'array' AND jsonb_array_length(model_weights) <= 50);
