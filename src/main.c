#include <stdio.h>

int main(void)
{
    fprintf(stderr, "kestrel: not implemented yet\n");
    return 1;
}
