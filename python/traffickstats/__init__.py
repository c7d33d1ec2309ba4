from traffickstats import _core
from traffickstats._groupby import crosstab, group_by, month, value_counts, year
