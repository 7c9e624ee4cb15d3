/* What a program learns about the machine's interfaces and names: the interface ioctls
 * (SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFMTU,
 * SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFHWADDR) on an AF_INET and on an AF_UNIX socket, as Linux
 * answers them on any socket; if_nametoindex/if_indextoname; getaddrinfo and
 * getnameinfo for localhost from /etc/hosts (the kernel writes it). Only what is the same on
 * every Linux machine is printed: the loopback interface, never the host's other ones. */
#define _GNU_SOURCE
#include "app_test.h"
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const char* err(long r) {
    static char text[64];
    if (r >= 0) {
        snprintf(text, sizeof text, "%ld", r);
        return text;
    }
    snprintf(text, sizeof text, "-1 %s", errno_name(errno));
    return text;
}

#define SHOW(label, call)                             \
    do {                                              \
        errno = 0;                                    \
        long show_result_ = (long)(call);             \
        printf("%s: %s\n", label, err(show_result_)); \
    } while (0)

static const char* in_text(const struct sockaddr* a) {
    static char text[32];
    if (a->sa_family != AF_INET) {
        snprintf(text, sizeof text, "(family %d)", a->sa_family);
        return text;
    }
    inet_ntop(AF_INET, &((const struct sockaddr_in*)a)->sin_addr, text, sizeof text);
    return text;
}

static const char* flag_names(short f) {
    static char text[128];
    text[0] = '\0';
    if (f & IFF_UP) strcat(text, " UP");
    if (f & IFF_BROADCAST) strcat(text, " BROADCAST");
    if (f & IFF_LOOPBACK) strcat(text, " LOOPBACK");
    if (f & IFF_RUNNING) strcat(text, " RUNNING");
    if (f & IFF_MULTICAST) strcat(text, " MULTICAST");
    return text[0] ? text + 1 : "none";
}

static void loopback_queries(int s, const char* kind) {
    printf("-- the loopback interface, asked through an %s socket\n", kind);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    SHOW("SIOCGIFFLAGS", ioctl(s, SIOCGIFFLAGS, &r));
    printf("  %s\n", flag_names(r.ifr_flags));
    SHOW("SIOCGIFADDR", ioctl(s, SIOCGIFADDR, &r));
    printf("  %s\n", in_text(&r.ifr_addr));
    SHOW("SIOCGIFNETMASK", ioctl(s, SIOCGIFNETMASK, &r));
    printf("  %s\n", in_text(&r.ifr_netmask));
    SHOW("SIOCGIFMTU", ioctl(s, SIOCGIFMTU, &r));
    printf("  %d\n", r.ifr_mtu);
    SHOW("SIOCGIFHWADDR", ioctl(s, SIOCGIFHWADDR, &r));
    int zero = 1;
    for (int i = 0; i < 6; ++i) zero &= r.ifr_hwaddr.sa_data[i] == 0;
    printf("  family %s, all zero %s\n", r.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK ? "ARPHRD_LOOPBACK" : "other",
           yes_no(zero));
    SHOW("SIOCGIFINDEX", ioctl(s, SIOCGIFINDEX, &r));
    int index = r.ifr_ifindex;
    printf("  %d\n", index);
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = index;
    SHOW("SIOCGIFNAME of that index", ioctl(s, SIOCGIFNAME, &r));
    printf("  %s\n", r.ifr_name);
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "nosuch0");
    SHOW("SIOCGIFFLAGS of nosuch0", ioctl(s, SIOCGIFFLAGS, &r));
    SHOW("SIOCGIFADDR of nosuch0", ioctl(s, SIOCGIFADDR, &r));
    r.ifr_ifindex = 999999;
    SHOW("SIOCGIFNAME of index 999999", ioctl(s, SIOCGIFNAME, &r));
    SHOW("SIOCGIFFLAGS, bad pointer", ioctl(s, SIOCGIFFLAGS, (void*)8));
}

static void interface_list(int s) {
    printf("-- SIOCGIFCONF\n");
    struct ifconf conf;
    memset(&conf, 0, sizeof conf);
    SHOW("the length it needs", ioctl(s, SIOCGIFCONF, &conf));
    printf("  a multiple of sizeof(struct ifreq): %s, at least one: %s\n",
           yes_no(conf.ifc_len % (int)sizeof(struct ifreq) == 0), yes_no(conf.ifc_len >= (int)sizeof(struct ifreq)));
    struct ifreq list[32];
    conf.ifc_len = sizeof list;
    conf.ifc_req = list;
    SHOW("the list", ioctl(s, SIOCGIFCONF, &conf));
    int found = 0;
    for (int i = 0; i < conf.ifc_len / (int)sizeof(struct ifreq); ++i) {
        if (strcmp(list[i].ifr_name, "lo") == 0) {
            found = 1;
            printf("  lo: %s\n", in_text(&list[i].ifr_addr));
        }
    }
    printf("  lo listed: %s\n", yes_no(found));
    conf.ifc_len = (int)sizeof(struct ifreq) - 1;
    SHOW("room for less than one", ioctl(s, SIOCGIFCONF, &conf));
    printf("  length %d\n", conf.ifc_len);
    SHOW("bad pointer", ioctl(s, SIOCGIFCONF, (void*)8));
}

static void names(void) {
    printf("-- interface names\n");
    unsigned index = if_nametoindex("lo");
    printf("if_nametoindex(lo) %u\n", index);
    char name[IF_NAMESIZE] = "";
    printf("if_indextoname(%u) %s\n", index, if_indextoname(index, name) ? name : "(none)");
    printf("if_nametoindex(nosuch0) %u\n", if_nametoindex("nosuch0"));
}

static void resolve(const char* host, int family) {
    struct addrinfo hints, *list = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    int r = getaddrinfo(host, "80", &hints, &list);
    printf("getaddrinfo(%s, 80, %s): %s\n", host, family == AF_INET ? "AF_INET" : "AF_UNSPEC",
           r == 0 ? "ok" : "failed");
    for (struct addrinfo* a = list; a; a = a->ai_next) {
        if (a->ai_family != AF_INET) continue;  /* ::1 depends on the host's /etc/hosts */
        printf("  %s port %d, SOCK_STREAM %s\n", in_text(a->ai_addr), ntohs(((struct sockaddr_in*)a->ai_addr)->sin_port),
               yes_no(a->ai_socktype == SOCK_STREAM));
    }
    if (list) freeaddrinfo(list);
}

static void resolver(void) {
    printf("-- the resolver\n");
    resolve("localhost", AF_INET);
    resolve("127.0.0.1", AF_UNSPEC);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(80);
    char host[64], serv[16];
    int r = getnameinfo((struct sockaddr*)&a, sizeof a, host, sizeof host, serv, sizeof serv, NI_NUMERICSERV);
    printf("getnameinfo(127.0.0.1:80): %s, %s port %s\n", r == 0 ? "ok" : "failed", r == 0 ? host : "",
           r == 0 ? serv : "");
}

int main(void) {
    app_test_init();
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    loopback_queries(s, "AF_INET");
    loopback_queries(u, "AF_UNIX");
    interface_list(s);
    names();
    resolver();
    close(s);
    close(u);
    printf("done\n");
    return 0;
}
