/**
 * Every island by the name the server writes into `data-island` and the
 * browser looks up to hydrate it.
 *
 * @module
 */
import ActionHistory from "./ActionHistory.tsx";
import ActionStatus from "./ActionStatus.tsx";
import ConfigEditor from "./ConfigEditor.tsx";
import Dashboard from "./Dashboard.tsx";
import NodeDetail from "./NodeDetail.tsx";

export const ISLANDS = { ActionHistory, ActionStatus, ConfigEditor, Dashboard, NodeDetail };

export type IslandName = keyof typeof ISLANDS;
