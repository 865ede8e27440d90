/** @jsxRuntime automatic @jsxImportSource preact */
import Layout, { type LayoutProps } from "../components/Layout.tsx";

export interface MessagePageProps {
  layout: Omit<LayoutProps, "title" | "children">;
  title: string;
  message: string;
}

/** A page that only says something, e.g. "Node not found". */
export default function MessagePage({ layout, title, message }: MessagePageProps) {
  return (
    <Layout {...layout} title={title}>
      <h1 class="text-2xl font-semibold">{title}</h1>
      <p>{message}</p>
      <p>
        <a href="/" class="text-blue-800 underline">Back to the fleet</a>
      </p>
    </Layout>
  );
}
