/* jsonadd.c - shared cJSON writing steps (see jsonadd.h). */
#include "experiments/jsonadd.h"

#include <stdio.h>

cJSON *jsonadd_object(cJSON *arr)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

bool jsonadd_int(cJSON *o, const char *k, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    return cJSON_AddRawToObject(o, k, buf) != NULL;
}
