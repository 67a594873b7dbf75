/*
 * Constants shared by the alarms and the notification topic (not part of the public API).
 */

/**
 * The AWS services that publish migration notifications: CloudWatch (alarm actions),
 * EventBridge (task state-change rules) and DMS (event subscriptions).
 */
export const PUBLISHING_SERVICES = ['cloudwatch.amazonaws.com', 'events.amazonaws.com', 'dms.amazonaws.com'];

/** `detail-type` of the EventBridge events DMS sends when a replication task changes state. */
export const TASK_STATE_CHANGE_DETAIL_TYPE = 'DMS Replication Task State Change';

/** Event type of a failed task in `DMS Replication Task State Change` events. */
export const TASK_FAILED_EVENT_TYPE = 'REPLICATION_TASK_FAILED';

/** Event type of a stopped task; only stops whose message names an error or a resource shortage are notified. */
export const TASK_STOPPED_EVENT_TYPE = 'REPLICATION_TASK_STOPPED';

/**
 * Wildcards matched against `detail.detailMessage` of a stop event: a stop reason such as
 * `FATAL_ERROR`/`RECOVERABLE_ERROR`, any message mentioning an error, or a stop for lack of memory
 * or disk (`STOPPED_DUE_TO_LOW_MEMORY`, `STOPPED_DUE_TO_LOW_DISK`). EventBridge wildcards are
 * case-sensitive.
 */
export const ERROR_STOP_MESSAGE_WILDCARDS = ['*ERROR*', '*Error*', '*error*', '*LOW_MEMORY*', '*LOW_DISK*'];
