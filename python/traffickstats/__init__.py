from traffickstats import _core
