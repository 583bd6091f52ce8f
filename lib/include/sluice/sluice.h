/* sluice/sluice.h - the whole public API in one include. */
#ifndef SLUICE_SLUICE_H
#define SLUICE_SLUICE_H

#include <sluice/batch.h>
#include <sluice/error.h>
#include <sluice/job.h>
#include <sluice/param.h>
#include <sluice/pipeline.h>
#include <sluice/plugin.h>
#include <sluice/queue.h>
#include <sluice/schema.h>
#include <sluice/stage.h>
#include <sluice/stats.h>
#include <sluice/version.h>

#endif
