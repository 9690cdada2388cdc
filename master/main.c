/* main.c: battfarm (not written yet). */
#include "compat.h"

int main(void)
{
    return 0;
}
