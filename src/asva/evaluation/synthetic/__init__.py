"""The synthetic benchmark's tables: `table1` (Table 1 and the Table 2a ablations: generate in memory,
score with the oracle and RelSync), `applications` (which object moves, cross-class sound), `report`
(Table 1 as `asva evaluate`'s three reports) and `agreement` (RelSync against the oracle)."""
