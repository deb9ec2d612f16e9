/**
 * @module logview/types
 * The log view's shapes: the endpoints' bodies from the shared protocol, and the filter.
 */
import type {
	LogAnnotation,
	LogCommandRange,
	LogGroup,
	LogLine,
	LogLinesResponse,
	LogOutlineResponse,
	LogProgressRun,
	LogSearchMatch,
	LogSearchResponse,
	LogStream,
	LogStreamFilter
} from '$lib/protocol';

export type {
	LogAnnotation,
	LogCommandRange,
	LogGroup,
	LogLine,
	LogLinesResponse,
	LogOutlineResponse,
	LogProgressRun,
	LogSearchMatch,
	LogSearchResponse,
	LogStream
};

/** Which lines the view shows. */
export type LogFilter = LogStreamFilter;
