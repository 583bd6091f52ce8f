/* sluice/version.h - version macros and the plugin ABI promise.
 *
 * SL_STAGE_ABI changes on any incompatible change to sl_stage_desc or to the
 * functions a stage may call; the loader refuses plugins built with another. */
#ifndef SLUICE_VERSION_H
#define SLUICE_VERSION_H

#define SL_VERSION_MAJOR 0
#define SL_VERSION_MINOR 1
#define SL_VERSION_PATCH 0
#define SL_VERSION_STRING "0.1.0"

#define SL_STAGE_ABI 1u

#ifdef __cplusplus
extern "C" {
#endif

const char *sl_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
