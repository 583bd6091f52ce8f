/* tests/unit/test_plugin_paths.c - which plugin files the loader refuses to
 * open, by where they are and who may write them (lib/plugin/trust.c), and
 * the rules for SLUICE_STAGE_PATH entries.
 *
 * Each test builds a small tree under a fresh /tmp directory with the modes
 * and owners it needs and copies the valid `tiny` fixture into it. The checks
 * judge modes and owners, not access(2), so they hold for root too; tests
 * that hand files to another owner need root to chown and skip otherwise. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <sluice/plugin.h>

#include "plugin/plugin_impl.h"

#define FIX SL_TEST_FIXTURE_DIR
#define OTHER_UID 54321 /* an owner that is neither root nor us */
#define OTHER_GID 54321

static char top[64];
static char why[SL_ERROR_MSG_MAX];
static sl_error err;

static void rm_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
    cr_assert_eq(system(cmd), 0);
}

static void setup(void)
{
    snprintf(top, sizeof top, "/tmp/sl_plugin_paths_XXXXXX");
    cr_assert_not_null(mkdtemp(top));
    cr_assert_eq(chmod(top, 0755), 0);
    unsetenv("SLUICE_STAGE_PATH");
    sl_error_clear(&err);
}

static void teardown(void)
{
    unsetenv("SLUICE_STAGE_PATH");
    rm_tree(top);
}

static void need_root(void)
{
    if (geteuid() != 0)
        cr_skip_test("changing owners needs root");
}

/* top/rel made with mode; returns the path in a static buffer of its own. */
static const char *make_dir(const char *rel, mode_t mode, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", top, rel);
    cr_assert_eq(mkdir(buf, 0700), 0, "mkdir %s", buf);
    cr_assert_eq(chmod(buf, mode), 0); /* chmod: mkdir's mode goes through the umask */
    return buf;
}

/* Copies the tiny fixture to dir/tiny.so with mode; returns the path. */
static const char *put_plugin(const char *dir, mode_t mode, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/tiny.so", dir);
    FILE *in = fopen(FIX "/tiny.so", "rb"), *out = fopen(buf, "wb");
    cr_assert(in && out);
    char data[8192];
    size_t k;
    while ((k = fread(data, 1, sizeof data, in)) > 0)
        cr_assert_eq(fwrite(data, 1, k, out), k);
    fclose(in);
    fclose(out);
    cr_assert_eq(chmod(buf, mode), 0);
    return buf;
}

static void expect_refused(const char *file, const char *want)
{
    why[0] = '\0';
    cr_assert_not(sl__plugin_trusted(file, why, sizeof why), "%s was trusted", file);
    cr_assert_str_eq(why, want);
}

TestSuite(plugin_trust, .init = setup, .fini = teardown);

Test(plugin_trust, accepts_private_directory_under_sticky_tmp)
{
    char d[256], f[300];
    put_plugin(make_dir("ok", 0755, d, sizeof d), 0755, f, sizeof f);
    cr_assert(sl__plugin_trusted(f, why, sizeof why), "%s", why);
    /* A file that is not there is for dlopen to report. */
    cr_assert(sl__plugin_trusted("/nonexistent/x.so", why, sizeof why));
}

Test(plugin_trust, refuses_world_writable_file)
{
    char d[256], f[300], want[1024];
    put_plugin(make_dir("p", 0755, d, sizeof d), 0666, f, sizeof f);
    snprintf(want, sizeof want, "file %s is writable by everyone (mode 0666): chmod o-w %s", f, f);
    expect_refused(f, want);
}

Test(plugin_trust, refuses_world_writable_directory_even_sticky)
{
    char d[256], f[300], want[1024];
    put_plugin(make_dir("p", 0777, d, sizeof d), 0755, f, sizeof f);
    snprintf(want, sizeof want,
             "directory %s is writable by everyone (mode 0777), so anyone can put a plugin there "
             "(move the plugins to a directory only you can write, or chmod o-w %s if it is yours)",
             d, d);
    expect_refused(f, want);
    cr_assert_eq(chmod(d, 01777), 0);
    snprintf(want, sizeof want,
             "directory %s is writable by everyone (mode 1777), so anyone can put a plugin there "
             "(move the plugins to a directory only you can write, or chmod o-w %s if it is yours)",
             d, d);
    expect_refused(f, want);
}

Test(plugin_trust, refuses_world_writable_parent_without_sticky_bit)
{
    char a[256], b[256], f[300], want[1024];
    make_dir("a", 0777, a, sizeof a);
    make_dir("a/b", 0755, b, sizeof b);
    put_plugin(b, 0755, f, sizeof f);
    snprintf(want, sizeof want,
             "directory %s is writable by everyone without the sticky bit (mode 0777), so anyone "
             "can replace what lies below it: chmod o-w %s",
             a, a);
    expect_refused(f, want);
    cr_assert_eq(chmod(a, 01777), 0); /* like /tmp: others cannot rename a/b */
    cr_assert(sl__plugin_trusted(f, why, sizeof why), "%s", why);
}

Test(plugin_trust, group_write_only_for_own_primary_group)
{
    char d[256], f[300], want[1024];
    put_plugin(make_dir("p", 0775, d, sizeof d), 0775, f, sizeof f);
    /* Made by us, so the group is our primary group: umask 002 is fine. */
    cr_assert(sl__plugin_trusted(f, why, sizeof why), "%s", why);
    need_root();
    cr_assert_eq(chown(f, (uid_t)-1, OTHER_GID), 0);
    snprintf(want, sizeof want,
             "file %s is writable by group gid %d, not your primary group (mode 0775): "
             "chmod g-w %s",
             f, OTHER_GID, f);
    expect_refused(f, want);
    cr_assert_eq(chmod(f, 0755), 0);
    cr_assert(sl__plugin_trusted(f, why, sizeof why), "%s", why);
    cr_assert_eq(chown(d, (uid_t)-1, OTHER_GID), 0);
    snprintf(want, sizeof want,
             "directory %s is writable by group gid %d, not your primary group (mode 0775): "
             "chmod g-w %s",
             d, OTHER_GID, d);
    expect_refused(f, want);
}

Test(plugin_trust, refuses_file_or_directory_of_another_owner)
{
    need_root();
    char d[256], f[300], want[1024];
    put_plugin(make_dir("p", 0755, d, sizeof d), 0755, f, sizeof f);
    cr_assert_eq(chown(f, OTHER_UID, (gid_t)-1), 0);
    snprintf(want, sizeof want,
             "file %s is owned by uid %d, not by you or root (chown it, or copy the plugin into "
             "a directory of your own)",
             f, OTHER_UID);
    expect_refused(f, want);
    cr_assert_eq(chown(f, 0, (gid_t)-1), 0);
    cr_assert_eq(chown(d, OTHER_UID, (gid_t)-1), 0);
    snprintf(want, sizeof want,
             "directory %s is owned by uid %d, not by you or root (chown it, or copy the plugin "
             "into a directory of your own)",
             d, OTHER_UID);
    expect_refused(f, want);
}

Test(plugin_trust, symlink_is_judged_where_it_points_and_where_it_sits)
{
    char good[256], bad[256], f[300], link[300], want[1024];
    make_dir("good", 0755, good, sizeof good);
    make_dir("bad", 0777, bad, sizeof bad);
    put_plugin(bad, 0755, f, sizeof f);
    snprintf(link, sizeof link, "%s/tiny.so", good);
    cr_assert_eq(symlink(f, link), 0);
    snprintf(want, sizeof want,
             "directory %s is writable by everyone (mode 0777), so anyone can put a plugin there "
             "(move the plugins to a directory only you can write, or chmod o-w %s if it is yours)",
             bad, bad);
    expect_refused(link, want); /* the target's directory */
    cr_assert_eq(chmod(bad, 0755), 0);
    cr_assert(sl__plugin_trusted(link, why, sizeof why), "%s", why);
    cr_assert_eq(chmod(good, 0777), 0);
    snprintf(want, sizeof want,
             "directory %s is writable by everyone (mode 0777), so anyone can put a plugin there "
             "(move the plugins to a directory only you can write, or chmod o-w %s if it is yours)",
             good, good);
    expect_refused(link, want); /* the link's own directory */
}

/* ---- the registry: refused files and the search path --------------------- */

TestSuite(plugin_paths, .init = setup, .fini = teardown);

Test(plugin_paths, refused_file_is_rejected_with_reason_and_never_opened)
{
    char d[256], f[300], want[1024];
    put_plugin(make_dir("p", 0777, d, sizeof d), 0755, f, sizeof f);
    sl_registry *reg = NULL;
    cr_assert_eq(sl_registry_create(&reg, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_registry_prepend_dir(reg, d, &err), SL_OK, "%s", err.msg);
    const sl_stage_desc *desc = NULL;
    cr_assert_eq(sl_registry_find(reg, "tiny", &desc, NULL, &err), SL_EINVAL, "%s", err.msg);
    snprintf(want, sizeof want,
             "%s: refused: directory %s is writable by everyone (mode 0777), so anyone can put a "
             "plugin there (move the plugins to a directory only you can write, or chmod o-w %s "
             "if it is yours)",
             f, d, d);
    cr_assert_str_eq(err.msg, want);
    cr_assert_null(desc);
    /* RTLD_NOLOAD finds only objects already loaded: it never was. */
    cr_assert_null(dlopen(f, RTLD_NOW | RTLD_NOLOAD));
    cr_assert_eq(sl_registry_scan(reg, &err), SL_OK, "%s", err.msg);
    const sl_plugin_info *info = NULL;
    for (size_t i = 0; i < sl_registry_count(reg); i++)
        if (strcmp(sl_registry_at(reg, i)->path, f) == 0)
            info = sl_registry_at(reg, i);
    cr_assert(info && !info->desc);
    cr_assert_str_eq(info->reason, want);
    sl_registry_destroy(&reg);
}

Test(plugin_paths, relative_entry_in_stage_path_is_refused)
{
    char d[256];
    make_dir("p", 0755, d, sizeof d);
    char env[600];
    snprintf(env, sizeof env, "%s:plugins", d);
    setenv("SLUICE_STAGE_PATH", env, 1);
    sl_registry *reg = NULL;
    cr_assert_eq(sl_registry_create(&reg, &err), SL_EINVAL);
    cr_assert_null(reg);
    cr_assert_str_eq(err.msg, "SLUICE_STAGE_PATH: 'plugins' is relative; plugins are loaded only "
                              "from absolute directories");
    setenv("SLUICE_STAGE_PATH", "./x", 1);
    cr_assert_eq(sl_registry_create(&reg, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "SLUICE_STAGE_PATH: './x' is relative; plugins are loaded only "
                              "from absolute directories");
}

Test(plugin_paths, empty_entries_are_skipped_not_the_current_directory)
{
    char d[256], f[300];
    put_plugin(make_dir("p", 0755, d, sizeof d), 0755, f, sizeof f);
    /* A tiny.so in the current directory must not be found through "". */
    char cwd[256], here[300];
    make_dir("cwd", 0755, cwd, sizeof cwd);
    put_plugin(cwd, 0755, here, sizeof here);
    cr_assert_eq(chdir(cwd), 0);
    char env[600];
    snprintf(env, sizeof env, "::%s::", d);
    setenv("SLUICE_STAGE_PATH", env, 1);
    sl_registry *reg = NULL;
    cr_assert_eq(sl_registry_create(&reg, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(strncmp(sl_registry_search_path(reg), d, strlen(d)), 0, "%s",
                 sl_registry_search_path(reg));
    cr_assert_eq(sl_registry_search_path(reg)[strlen(d)], ':', "%s",
                 sl_registry_search_path(reg));
    const sl_stage_desc *desc = NULL;
    const char *path = NULL;
    cr_assert_eq(sl_registry_find(reg, "tiny", &desc, &path, &err), SL_OK, "%s", err.msg);
    cr_assert_str_eq(path, f);
    sl_registry_destroy(&reg);
    cr_assert_eq(chdir("/"), 0);
}

Test(plugin_paths, built_in_directories_still_load)
{
    sl_registry *reg = NULL;
    cr_assert_eq(sl_registry_create(&reg, &err), SL_OK, "%s", err.msg);
    const sl_stage_desc *desc = NULL;
    cr_assert_eq(sl_registry_find(reg, "range", &desc, NULL, &err), SL_OK, "%s", err.msg);
    cr_assert_str_eq(desc->name, "range");
    sl_registry_destroy(&reg);
}

Test(plugin_paths, prepend_of_relative_dir_is_refused)
{
    sl_registry *reg = NULL;
    cr_assert_eq(sl_registry_create(&reg, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_registry_prepend_dir(reg, "stages", &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "stage directory 'stages' is relative; plugins are loaded only "
                              "from absolute directories");
    sl_registry_destroy(&reg);
}
