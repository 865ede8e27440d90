/** @jsxRuntime automatic @jsxImportSource preact */
import type { ActionRecord, NodeDetailView } from "../views.ts";
import Island from "../components/Island.tsx";
import Layout, { type LayoutProps } from "../components/Layout.tsx";

export interface NodePageProps {
  layout: Omit<LayoutProps, "title" | "children">;
  detail: NodeDetailView;
  history: ActionRecord[];
}

/** `/nodes/:id`: one node in detail, its configuration and its actions. */
export default function NodePage({ layout, detail, history }: NodePageProps) {
  const node = detail.node;
  return (
    <Layout {...layout} title={node.name}>
      <nav aria-label="Breadcrumb" class="text-sm">
        <a href="/" class="text-blue-800 underline">Fleet</a> <span aria-hidden="true">/</span> {node.name}
      </nav>
      <div class="sticky top-0 z-10">
        <Island name="ActionStatus" props={{}} />
      </div>
      <Island name="NodeDetail" props={{ initial: detail }} />
      <Island
        name="ConfigEditor"
        props={{ nodeId: node.id, indexNames: detail.snapshots.map((s) => s.indexName) }}
      />
      <Island
        name="ActionHistory"
        props={{ initial: history, pollIntervalMs: detail.pollIntervalMs, nodeId: node.id }}
      />
    </Layout>
  );
}
