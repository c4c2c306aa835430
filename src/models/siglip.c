// siglip.c — forward and analytic backward of SiglipModel (see siglip.h).
#include "models/siglip.h"
#include "models/model.h"
#include "base/check.h"
#include <stdlib.h>

void siglip_step_free(SiglipModel *m) { (void)m; }
