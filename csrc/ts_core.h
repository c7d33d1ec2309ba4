/* Forwarding header while csrc/groupby.c still includes "ts_core.h"; the storage
 * header now lives in core/ts_core.h.  Removed when group-by moves to csrc/groupby/. */
#include "core/ts_core.h"
