/*
 * net_init.c - /init for the Linux reference guest in tools/bench/net: loads the virtio
 * network modules the initramfs carries (Debian's kernel has virtio as modules), brings up
 * lo and eth0 with a static address, then execs the benchmark server.
 *
 *   /init ADDR NETMASK GATEWAY PROGRAM [ARGS...]     (from the kernel command line after --)
 *
 * The modules are listed in /modules, one path per line in load order (dependencies first).
 * Parameters for a module given on the kernel command line as MODULE.PARAM=VALUE (QEMU
 * microvm appends virtio_mmio.device=... for its virtio-mmio devices) are passed to it, as
 * modprobe would.
 * Built with: musl-gcc -static -Os (x86_64).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void fail(const char *what)
{
	fprintf(stderr, "net_init: %s: %s\n", what, strerror(errno));
	fflush(stderr);
	reboot(RB_POWER_OFF);
	_exit(1);
}

static char cmdline[4096];

/* "virtio_mmio.device=A virtio_mmio.device=B" -> "device=A device=B" for module "virtio_mmio". */
static void module_params(const char *module, char *out, size_t size)
{
	size_t used = 0, mlen = strlen(module);
	char copy[sizeof cmdline];
	out[0] = '\0';
	strcpy(copy, cmdline);
	for (char *save, *word = strtok_r(copy, " \n", &save); word; word = strtok_r(NULL, " \n", &save)) {
		if (strncmp(word, module, mlen) == 0 && word[mlen] == '.') {
			int n = snprintf(out + used, size - used, "%s%s", used ? " " : "", word + mlen + 1);
			if (n > 0 && (size_t)n < size - used)
				used += (size_t)n;
		}
	}
}

static void load_modules(void)
{
	FILE *list = fopen("/modules", "r");
	char path[256], params[1024], name[64];
	if (!list)
		return;
	while (fgets(path, sizeof path, list)) {
		path[strcspn(path, "\n")] = '\0';
		if (!path[0])
			continue;
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base);
		module_params(name, params, sizeof params);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail(path);
		if (syscall(SYS_finit_module, fd, params, 0) != 0 && errno != EEXIST)
			fail(path);
		close(fd);
	}
	fclose(list);
}

static void set_addr(int s, const char *ifname, unsigned long request, const char *text)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, text, &sin->sin_addr) != 1) {
		errno = EINVAL;
		fail(text);
	}
	if (ioctl(s, request, &ifr) < 0)
		fail(ifname);
}

static void up(int s, const char *ifname)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		fail(ifname);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		fail(ifname);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: /init ADDR NETMASK GATEWAY PROGRAM [ARGS...]\n");
		reboot(RB_POWER_OFF);
		return 1;
	}
	mount("proc", "/proc", "proc", 0, NULL);
	int fd = open("/proc/cmdline", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
		cmdline[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	load_modules();
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		fail("socket");
	up(s, "lo");
	/* The NIC appears once its driver has probed it: wait for it briefly. */
	for (int i = 0; i < 1000 && if_nametoindex("eth0") == 0; ++i)
		usleep(1000);
	set_addr(s, "eth0", SIOCSIFADDR, argv[1]);
	set_addr(s, "eth0", SIOCSIFNETMASK, argv[2]);
	up(s, "eth0");
	struct rtentry route;
	memset(&route, 0, sizeof route);
	((struct sockaddr_in *)&route.rt_dst)->sin_family = AF_INET;
	((struct sockaddr_in *)&route.rt_genmask)->sin_family = AF_INET;
	struct sockaddr_in *gw = (struct sockaddr_in *)&route.rt_gateway;
	gw->sin_family = AF_INET;
	inet_pton(AF_INET, argv[3], &gw->sin_addr);
	route.rt_flags = RTF_UP | RTF_GATEWAY;
	if (ioctl(s, SIOCADDRT, &route) < 0)
		fail("default route");
	close(s);
	printf("net_init: eth0 %s/%s via %s\n", argv[1], argv[2], argv[3]);
	fflush(stdout);
	execv(argv[4], argv + 4);
	fail(argv[4]);
	return 1;
}
