export { startDemo } from "./demo.js";
