/* gwctl's entry point: everything is in gwctl_main() (gateway/gwctl/gwctl.c)
 * so that the unit tests can run it. */
#include <stdio.h>

#include "gw/gwctl.h"

int main(int argc, char **argv)
{
	return gwctl_main(argc, argv, stdout, stderr);
}
