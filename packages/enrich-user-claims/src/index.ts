export { type UserClaimsFact, type UserClaimsInput, userClaims } from "./user-claims.js";
