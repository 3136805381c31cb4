import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkTemplateCard } from '../../lib/simulator/template-card.js';

const textNotice = {
  card_type: 'text_notice',
  main_title: { title: '欢迎使用企业微信' },
  card_action: { type: 1, url: 'https://work.weixin.qq.com' },
};
const newsNotice = {
  card_type: 'news_notice',
  main_title: { title: '欢迎使用企业微信' },
  card_image: { url: 'https://example.com/a.png', aspect_ratio: 2.25 },
  card_action: { type: 2, appid: 'APPID', pagepath: 'PAGEPATH' },
};

function errcodeOf(card: Record<string, unknown>): number {
  return checkTemplateCard(card).errcode;
}

const items = (count: number, item: unknown): unknown[] => Array.from({ length: count }, () => item);

describe('simulator template_card rules', () => {
  it('accepts complete text_notice and news_notice cards', () => {
    assert.equal(errcodeOf(textNotice), 0);
    assert.equal(errcodeOf(newsNotice), 0);
    assert.equal(errcodeOf({ ...textNotice, main_title: {}, sub_title_text: 'only a subtitle' }), 0);
    assert.equal(
      errcodeOf({
        ...newsNotice,
        source: { icon_url: 'https://example.com/i.png', desc: '企业微信', desc_color: 3 },
        image_text_area: { type: 1, url: 'https://example.com', image_url: 'https://example.com/i.png' },
        horizontal_content_list: [
          { keyname: '邀请人', value: '张三' },
          { keyname: '官网', value: '点击', type: 1, url: 'https://example.com' },
          { keyname: '附件', type: 2, media_id: 'MEDIAID' },
          { keyname: '员工', type: 3, userid: 'zhangsan' },
        ],
        jump_list: items(3, { type: 1, title: '企业微信官网', url: 'https://example.com' }),
        vertical_content_list: items(4, { title: '惊喜红包等你来拿' }),
      }),
      0,
    );
  });

  it('40058 for a bad card_type or card_action', () => {
    assert.equal(errcodeOf({ ...textNotice, card_type: 'button_interaction' }), 40058);
    const { card_action: _action, ...withoutAction } = textNotice;
    assert.equal(errcodeOf(withoutAction), 40058);
    assert.equal(errcodeOf({ ...textNotice, card_action: { type: 1 } }), 40058);
    assert.equal(errcodeOf({ ...textNotice, card_action: { type: 2, url: 'https://example.com' } }), 40058);
    assert.equal(errcodeOf({ ...textNotice, card_action: { type: 3, url: 'https://example.com' } }), 40058);
  });

  it('40058 for a text_notice without a title or subtitle', () => {
    assert.equal(errcodeOf({ ...textNotice, main_title: undefined }), 40058);
    assert.equal(errcodeOf({ ...textNotice, main_title: { desc: 'no title' } }), 40058);
  });

  it('40058 for a news_notice without title or image, or with an aspect_ratio outside 1.3–2.25', () => {
    assert.equal(errcodeOf({ ...newsNotice, main_title: { desc: 'x' } }), 40058);
    assert.equal(errcodeOf({ ...newsNotice, card_image: { aspect_ratio: 1.5 } }), 40058);
    assert.equal(errcodeOf({ ...newsNotice, card_image: { url: 'https://example.com/a.png', aspect_ratio: 1.29 } }), 40058);
    assert.equal(errcodeOf({ ...newsNotice, card_image: { url: 'https://example.com/a.png', aspect_ratio: 2.26 } }), 40058);
  });

  it('40058 for lists over their size or with items missing required fields', () => {
    assert.equal(errcodeOf({ ...textNotice, horizontal_content_list: items(7, { keyname: 'k' }) }), 40058);
    assert.equal(errcodeOf({ ...textNotice, horizontal_content_list: [{ value: 'no keyname' }] }), 40058);
    assert.equal(errcodeOf({ ...textNotice, horizontal_content_list: [{ keyname: 'k', type: 1 }] }), 40058);
    assert.equal(errcodeOf({ ...textNotice, horizontal_content_list: [{ keyname: 'k', type: 2 }] }), 40058);
    assert.equal(errcodeOf({ ...textNotice, horizontal_content_list: [{ keyname: 'k', type: 3 }] }), 40058);
    assert.equal(errcodeOf({ ...textNotice, jump_list: items(4, { title: 't' }) }), 40058);
    assert.equal(errcodeOf({ ...textNotice, jump_list: [{ url: 'https://example.com' }] }), 40058);
    assert.equal(errcodeOf({ ...newsNotice, vertical_content_list: items(5, { title: 't' }) }), 40058);
    assert.equal(errcodeOf({ ...newsNotice, vertical_content_list: [{ desc: 'no title' }] }), 40058);
    assert.equal(errcodeOf({ ...newsNotice, jump_list: { title: 'not an array' } }), 40058);
  });

  it('40058 for a source colour outside 0–3 or an image_text_area without image_url', () => {
    assert.equal(errcodeOf({ ...textNotice, source: { desc: 'x', desc_color: 4 } }), 40058);
    assert.equal(errcodeOf({ ...newsNotice, image_text_area: { title: 'no image' } }), 40058);
  });
});
