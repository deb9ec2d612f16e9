/**
 * @module auth/principal
 * Who a request or a WebSocket connection acts for, once its credentials were checked.
 * Carries no secret: a token is known by its name and its id (a prefix of its SHA-256).
 */
import type { AuthVia, Role } from '../../protocol/auth';

export interface Principal {
	role: Role;
	via: AuthVia;
	/** the credential's name for people and logs ("anonymous" without credentials) */
	name: string;
	/** the id of the token behind it (a prefix of its hash); absent for anonymous access */
	tokenId?: string;
	/** a browser session's id (the hash of its cookie value, never the value) */
	sessionId?: string;
	/** when a browser session ends at the latest, ms since the epoch */
	expiresAt?: number;
}

/** Everyone, when the server binds loopback and no credentials are configured. */
export const ANONYMOUS_OPERATOR: Principal = Object.freeze({
	role: 'operator',
	via: 'anonymous',
	name: 'anonymous'
});
