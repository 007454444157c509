import { Link } from "react-router-dom";
import { Empty } from "../../components/States";

export function NotFoundPage() {
  return (
    <Empty title="There is no page here.">
      <Link to="/">Back to projects</Link>
    </Empty>
  );
}
