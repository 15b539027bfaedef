/** @jsxImportSource hono/jsx */
// A run's workflow id, linked to its Temporal UI page when the console knows where the UI is (temporal-ui.ts).
export function RunLink(props: { workflowId: string; href?: string }) {
  const id = <code>{props.workflowId}</code>;
  return props.href ? (
    <a href={props.href} title="Open in the Temporal UI">
      {id}
    </a>
  ) : (
    id
  );
}
