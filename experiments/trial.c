/* trial.c - trial record lifetime. */
#include "experiments/trial.h"

#include <stdlib.h>
#include <string.h>

void trial_record_clear(trial_record *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_turns; i++)
        free(t->turns[i].raw);
    free(t->turns);
    memset(t, 0, sizeof *t);
}
