import { callUnary, type ServiceClients } from '@lovepoints/grpc';

export interface Person {
  id: string;
  communityId: string;
  street: string;
  roles: string[];
}

/** Who people are, from the volunteer service (which owns users), as a platform service. */
export class PeopleClient {
  constructor(
    private readonly clients: Pick<ServiceClients, 'volunteer'>,
    private readonly deadlineMs: number,
  ) {}

  async byId(userId: string): Promise<Person> {
    return this.lookUp({ userId, phone: '' });
  }

  async byPhone(phone: string): Promise<Person> {
    return this.lookUp({ userId: '', phone });
  }

  private async lookUp(request: { userId: string; phone: string }): Promise<Person> {
    const user = await callUnary(this.clients.volunteer, 'lookUpUser', request, { deadlineMs: this.deadlineMs });
    return { id: user.id, communityId: user.communityId, street: user.street, roles: user.roles };
  }
}
