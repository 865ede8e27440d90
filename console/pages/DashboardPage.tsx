/** @jsxRuntime automatic @jsxImportSource preact */
import type { ActionRecord, FleetView } from "../views.ts";
import Island from "../components/Island.tsx";
import Layout, { type LayoutProps } from "../components/Layout.tsx";

export interface DashboardPageProps {
  layout: Omit<LayoutProps, "title" | "children">;
  fleet: FleetView;
  history: ActionRecord[];
}

/** `/`: the fleet at a glance. */
export default function DashboardPage({ layout, fleet, history }: DashboardPageProps) {
  return (
    <Layout {...layout} title="Fleet">
      <div class="sticky top-0 z-10">
        <Island name="ActionStatus" props={{}} />
      </div>
      <Island name="Dashboard" props={{ initial: fleet }} />
      <Island name="ActionHistory" props={{ initial: history, pollIntervalMs: fleet.pollIntervalMs }} />
    </Layout>
  );
}
