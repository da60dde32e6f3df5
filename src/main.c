/* main.c - llmgw command line: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("llmgw %s\n", GW_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: llmgw serve|ask|sql|search|catalog|keys [...]\n");
    return 2;
}
