/** Marathon's `lastTaskFailure` of an app: the last of its tasks that failed. */
import { z } from "zod";

/** Marathon's `lastTaskFailure` of an app. */
export const TaskFailureSchema = z.object({
  appId: z.string(),
  host: z.string(),
  message: z.string(),
  state: z.string(),
  taskId: z.string(),
  timestamp: z.string(),
  version: z.string(),
  slaveId: z.string(),
});
/** The last failure of an app's tasks. */
export type TaskFailure = z.infer<typeof TaskFailureSchema>;
